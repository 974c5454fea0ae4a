{{ config(materialized='table') }}
-- Each distinct title cell: as stored, and the seniority its words imply.
SELECT t.raw, t.text AS title, ts.seniority AS title_seniority
FROM {{ ref('distinct_texts') }} t
LEFT JOIN {{ ref('text_seniorities') }} ts ON ts.kind = t.kind AND ts.raw = t.raw
WHERE t.kind = 'title'
