{{ config(materialized='view') }}
-- One row per contact of the batch, in the shape of the contacts search view: the contact
-- columns (batch_contacts), then its company's filterable fields as the file has described
-- that company so far. A load does not read it (the search documents are rendered from the
-- merged records: assets/loading.py); benchmarks and tests that write a search store from a
-- batch do.
SELECT
    c.*,
    f.name AS company_name,
    f.domain AS company_domain,
    f.industries AS company_industries,
    f.employees_count AS company_employees_count,
    f.annual_revenue AS company_annual_revenue,
    f.founded_year AS company_founded_year,
    f.city AS company_city,
    f.state AS company_state,
    f.country AS company_country
FROM {{ ref('batch_contacts') }} c
LEFT JOIN {{ ref('file_companies') }} f ON f.id = c.company_id
