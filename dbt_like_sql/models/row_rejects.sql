{{ config(materialized='table') }}
-- Rows refused by a normalization rule, with their line and raw text.
SELECT p._line AS line, p.reject_reason AS reason, r._raw AS raw
FROM {{ ref('parsed_rows') }} p
JOIN {{ source('raw_rows') }} r ON r._line = p._line
WHERE p.reject_reason IS NOT NULL
