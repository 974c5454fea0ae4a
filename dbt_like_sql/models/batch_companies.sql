{{ config(materialized='table') }}
-- One row per company of the batch's valid rows: its combinations merged, the last
-- non-empty value winning per field (a count and its min/max come from the same row).
WITH used AS (
    SELECT cell_id, max(_line) AS last_line,
           arg_max(created_at, _line) FILTER (WHERE created_at IS NOT NULL) AS created_at
    FROM {{ ref('valid_rows') }}
    GROUP BY cell_id
)
SELECT
    company_id AS id,
    arg_max(name, last_line) FILTER (WHERE name IS NOT NULL) AS name,
    arg_max(domain, last_line) FILTER (WHERE domain IS NOT NULL) AS domain,
    arg_max(website, last_line) FILTER (WHERE website IS NOT NULL) AS website,
    arg_max(industries, last_line) FILTER (WHERE industries IS NOT NULL) AS industries,
    arg_max(employees_count, last_line) FILTER (WHERE employees_count IS NOT NULL)
        AS employees_count,
    arg_max(employees_count_min, last_line) FILTER (WHERE employees_count IS NOT NULL)
        AS employees_count_min,
    arg_max(employees_count_max, last_line) FILTER (WHERE employees_count IS NOT NULL)
        AS employees_count_max,
    arg_max(annual_revenue, last_line) FILTER (WHERE annual_revenue IS NOT NULL)
        AS annual_revenue,
    arg_max(founded_year, last_line) FILTER (WHERE founded_year IS NOT NULL) AS founded_year,
    arg_max(city, last_line) FILTER (WHERE city IS NOT NULL) AS city,
    arg_max(state, last_line) FILTER (WHERE state IS NOT NULL) AS state,
    arg_max(country, last_line) FILTER (WHERE country IS NOT NULL) AS country,
    arg_max(linkedin_url, last_line) FILTER (WHERE linkedin_url IS NOT NULL) AS linkedin_url,
    arg_max(keywords, last_line) FILTER (WHERE keywords IS NOT NULL) AS keywords,
    arg_max(technologies, last_line) FILTER (WHERE technologies IS NOT NULL) AS technologies,
    -- Only a companies file says when a company was created; else it is the load time.
    coalesce(
        CASE WHEN getvariable('companies_only')
             THEN arg_max(u.created_at, last_line) FILTER (WHERE u.created_at IS NOT NULL)
        END,
        getvariable('loaded_at')) AS created_at,
    getvariable('loaded_at') AS updated_at,
    [getvariable('source_file')] AS source_file,
    getvariable('load_run') AS load_run,
    getvariable('loaded_at') AS first_seen,
    getvariable('loaded_at') AS last_seen
FROM {{ ref('company_values') }}
JOIN used u USING (cell_id)
WHERE company_id IS NOT NULL
GROUP BY company_id
