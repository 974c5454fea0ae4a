{{ config(materialized='table') }}
-- Words and two-word phrases of a title that tell a seniority; the lowest priority wins.
SELECT lookup_key(match) AS term, seniority, CAST(priority AS INTEGER) AS priority
FROM {{ ref('seniorities') }}
WHERE kind = 'title'
