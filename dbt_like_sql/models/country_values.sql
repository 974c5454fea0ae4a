{{ config(materialized='table') }}
-- Each distinct country cell (contact or company) with its canonical name (country_name).
SELECT c.raw, country_name(c.text) AS country
FROM {{ ref('distinct_texts') }} c
WHERE c.kind = 'country'
