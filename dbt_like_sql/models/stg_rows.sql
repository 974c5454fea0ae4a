{{ config(materialized='view') }}
-- The contact cells of each input row as stored text (squished, placeholders NULL). Cells
-- that repeat a lot (title, seniority, departments, country) stay raw here: the *_values
-- models normalize each distinct value once and parsed_rows joins them back.
WITH squished AS (
    SELECT
        _line,
        squish(first_name) AS first_name,
        squish(last_name) AS last_name,
        squish(full_name) AS full_name,
        squish(email) AS email,
        squish(phone) AS phone,
        squish(linkedin_url) AS linkedin_url,
        squish(city) AS city,
        squish(state) AS state,
        squish(created_at) AS created_at,
        title AS title_raw,
        seniority AS seniority_raw,
        departments AS departments_raw,
        country AS country_raw
    FROM {{ source('raw_rows') }}
)
SELECT
    _line,
    blank_to_null(first_name) AS first_name,
    blank_to_null(last_name) AS last_name,
    blank_to_null(full_name) AS full_name,
    blank_to_null(email) AS email,
    blank_to_null(phone) AS phone,
    blank_to_null(linkedin_url) AS linkedin_url,
    blank_to_null(city) AS city,
    blank_to_null(state) AS state,
    blank_to_null(created_at) AS created_at,
    title_raw, seniority_raw, departments_raw, country_raw
FROM squished
