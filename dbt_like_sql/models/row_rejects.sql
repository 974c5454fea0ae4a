{{ config(materialized='view') }}
-- Rows refused by a normalization rule, with their line and raw text.
SELECT _line AS line, reject_reason AS reason, _raw AS raw
FROM {{ ref('parsed_rows') }}
WHERE reject_reason IS NOT NULL
