{{ config(materialized='table') }}
-- Every input cell as stored text: squished, and placeholders ("n/a", "-", ...) as NULL.
SELECT _line, _raw, blank_to_null(squish(COLUMNS(* EXCLUDE (_line, _raw))))
FROM {{ source('raw_rows') }}
