{{ config(materialized='table') }}
-- Each distinct departments cell as a list of snake_case names (department_items), so one
-- department is one facet value however written.
SELECT raw, department_items(text) AS departments
FROM {{ ref('distinct_texts') }}
WHERE kind = 'departments'
