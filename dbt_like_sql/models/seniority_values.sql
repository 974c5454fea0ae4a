{{ config(materialized='table') }}
-- Each distinct seniority cell: the canonical level it names (an alias, else its words),
-- and its lowercased text for when neither it nor the title gives a known level.
SELECT
    s.raw,
    coalesce(sa.seniority, ts.seniority) AS known,
    lower(s.text) AS as_written
FROM {{ ref('distinct_texts') }} s
LEFT JOIN {{ ref('seniority_aliases') }} sa ON sa.term = s.term
LEFT JOIN {{ ref('text_seniorities') }} ts ON ts.kind = s.kind AND ts.raw = s.raw
WHERE s.kind = 'seniority'
