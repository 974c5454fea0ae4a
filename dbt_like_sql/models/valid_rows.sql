{{ config(materialized='view') }}
SELECT * FROM {{ ref('parsed_rows') }} WHERE reject_reason IS NULL
