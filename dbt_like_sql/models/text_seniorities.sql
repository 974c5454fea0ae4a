{{ config(materialized='table') }}
-- The seniority each distinct title or seniority cell implies through its words and word
-- pairs ("Senior Manager, HR" -> manager: manager outranks senior in the seed).
WITH words AS (
    SELECT kind, raw, string_split(term, ' ') AS w
    FROM {{ ref('distinct_texts') }}
    WHERE kind IN ('title', 'seniority') AND term IS NOT NULL
),
grams AS (
    SELECT kind, raw,
           unnest(list_concat(w, list_transform(range(1, len(w)),
                                                lambda i: w[i] || ' ' || w[i + 1]))) AS gram
    FROM words
)
SELECT g.kind, g.raw, arg_min(sw.seniority, sw.priority) AS seniority
FROM grams g
JOIN {{ ref('seniority_words') }} sw ON sw.term = g.gram
GROUP BY g.kind, g.raw
