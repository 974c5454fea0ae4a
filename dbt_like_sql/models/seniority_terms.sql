{{ config(materialized='table') }}
-- The seniority each distinct title (or unrecognized seniority cell) of the batch implies,
-- from its words and word pairs. Distinct terms first: titles repeat a lot.
WITH terms AS (
    SELECT DISTINCT lookup_key(t) AS term
    FROM (
        SELECT title AS t FROM {{ ref('stg_rows') }}
        UNION ALL
        SELECT seniority FROM {{ ref('stg_rows') }}
    )
    WHERE t IS NOT NULL
),
words AS (
    SELECT term, string_split(term, ' ') AS w FROM terms
),
grams AS (
    SELECT term,
           unnest(list_concat(w, list_transform(range(1, len(w)),
                                                lambda i: w[i] || ' ' || w[i + 1]))) AS gram
    FROM words
)
SELECT g.term, arg_min(sw.seniority, sw.priority) AS seniority
FROM grams g
JOIN {{ ref('seniority_words') }} sw ON sw.term = g.gram
GROUP BY g.term
