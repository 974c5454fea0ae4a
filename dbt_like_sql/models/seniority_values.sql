{{ config(materialized='table') }}
-- Each distinct seniority cell: the canonical level it names (a seed spelling, else its
-- words), and its lowercased text for when neither it nor the title gives a known level.
SELECT
    s.raw,
    coalesce(seniority_alias(s.text), ts.seniority) AS known,
    lower(s.text) AS as_written
FROM {{ ref('distinct_texts') }} s
LEFT JOIN {{ ref('text_seniorities') }} ts ON ts.kind = s.kind AND ts.raw = s.raw
WHERE s.kind = 'seniority'
