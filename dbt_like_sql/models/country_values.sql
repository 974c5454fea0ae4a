{{ config(materialized='table') }}
-- Each distinct country cell (contact or company): the canonical name from the seed, else
-- the text as written, lowercased.
SELECT c.raw, coalesce(ca.country, lower(c.text)) AS country
FROM {{ ref('distinct_texts') }} c
LEFT JOIN {{ ref('country_aliases') }} ca ON ca.alias_key = c.term
WHERE c.kind = 'country'
