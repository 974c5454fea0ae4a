{{ config(materialized='table') }}
-- Which combination of company cells each line carries.
SELECT unnest(lines) AS _line, cell_id FROM {{ ref('company_cells') }}
