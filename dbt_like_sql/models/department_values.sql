{{ config(materialized='table') }}
-- Each distinct departments cell as a list of snake_case names ("Human Resources; Sales"
-- -> [human_resources, sales]), so one department is one facet value however written.
WITH split AS (
    SELECT raw, list_transform(split_list(text), lambda d: replace(d, ' ', '_')) AS items
    FROM {{ ref('distinct_texts') }}
    WHERE kind = 'departments'
)
SELECT raw, distinct_items(items) AS departments FROM split
