{{ config(materialized='table') }}
-- What a seniority cell may say, by lookup key ("C-Suite", "c_suite" -> c_suite).
SELECT lookup_key(match) AS term, min(seniority) AS seniority
FROM {{ ref('seniorities') }}
WHERE kind = 'value'
GROUP BY ALL
