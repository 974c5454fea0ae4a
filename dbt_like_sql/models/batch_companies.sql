{{ config(materialized='table') }}
-- One row per company of the batch: its rows merged, the last non-empty value winning per
-- field (a count and its min/max come from the same row).
SELECT
    company_id AS id,
    arg_max(company_name, _line) FILTER (WHERE company_name IS NOT NULL) AS name,
    arg_max(domain, _line) FILTER (WHERE domain IS NOT NULL) AS domain,
    arg_max(website, _line) FILTER (WHERE website IS NOT NULL) AS website,
    arg_max(industries, _line) FILTER (WHERE industries IS NOT NULL) AS industries,
    arg_max(employees_min, _line) FILTER (WHERE employees_min IS NOT NULL) AS employees_count,
    arg_max(employees_min, _line) FILTER (WHERE employees_min IS NOT NULL)
        AS employees_count_min,
    arg_max(employees_max, _line) FILTER (WHERE employees_min IS NOT NULL)
        AS employees_count_max,
    arg_max(revenue_min, _line) FILTER (WHERE revenue_min IS NOT NULL) AS annual_revenue,
    arg_max(founded_year, _line) FILTER (WHERE founded_year IS NOT NULL) AS founded_year,
    arg_max(company_city, _line) FILTER (WHERE company_city IS NOT NULL) AS city,
    arg_max(company_state, _line) FILTER (WHERE company_state IS NOT NULL) AS state,
    arg_max(company_country, _line) FILTER (WHERE company_country IS NOT NULL) AS country,
    arg_max(company_linkedin_url, _line) FILTER (WHERE company_linkedin_url IS NOT NULL)
        AS linkedin_url,
    arg_max(keywords, _line) FILTER (WHERE keywords IS NOT NULL) AS keywords,
    arg_max(technologies, _line) FILTER (WHERE technologies IS NOT NULL) AS technologies,
    -- Only a companies file says when a company was created; else it is the load time.
    coalesce(
        CASE WHEN getvariable('companies_only')
             THEN arg_max(created_at, _line) FILTER (WHERE created_at IS NOT NULL) END,
        getvariable('loaded_at')) AS created_at,
    getvariable('loaded_at') AS updated_at,
    getvariable('source_file') AS source_file,
    getvariable('load_run') AS load_run
FROM {{ ref('valid_rows') }}
WHERE company_id IS NOT NULL
GROUP BY company_id
