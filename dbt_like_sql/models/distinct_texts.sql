{{ config(materialized='table') }}
-- Each distinct cell of the repetitive contact columns (and the company country), as
-- stored text and as a seed lookup key. Normalizing distinct values, not rows, is what
-- keeps lookups cheap on large files.
WITH raw_values AS (
    SELECT DISTINCT 'title' AS kind, title AS raw FROM {{ source('raw_rows') }}
    UNION ALL
    SELECT DISTINCT 'seniority', seniority FROM {{ source('raw_rows') }}
    UNION ALL
    SELECT DISTINCT 'departments', departments FROM {{ source('raw_rows') }}
    UNION ALL
    SELECT DISTINCT 'country', country FROM {{ source('raw_rows') }}
    UNION ALL
    SELECT DISTINCT 'country', company_country FROM {{ source('raw_rows') }}
),
squished AS (
    SELECT DISTINCT kind, raw, squish(raw) AS text FROM raw_values WHERE raw IS NOT NULL
),
cleaned AS (
    SELECT kind, raw, blank_to_null(text) AS text FROM squished
)
SELECT kind, raw, text, lookup_key(text) AS term FROM cleaned
