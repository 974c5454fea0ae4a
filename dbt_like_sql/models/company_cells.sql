{{ config(materialized='table') }}
-- The distinct combinations of company cells in the batch (rows of one company repeat
-- them), each with the lines that carry it: companies are normalized once per combination.
SELECT
    row_number() OVER () AS cell_id,
    company_name, company_website, company_domain, company_industries,
    company_employees_count, company_annual_revenue, company_founded_year, company_city,
    company_state, company_country, company_linkedin_url, company_keywords,
    company_technologies,
    list(_line) AS lines
FROM {{ source('raw_rows') }}
GROUP BY ALL
