{{ config(materialized='table') }}
-- Each combination of company cells normalized: typed values, whether its numbers parse,
-- and the company key and id (domain, else name + country). One step per CTE: see the
-- note at the top of macros/normalize.sql.
WITH squished AS (
    SELECT
        cell_id, company_country,
        squish(company_name) AS name,
        squish(company_website) AS website,
        squish(company_domain) AS domain_text,
        squish(company_employees_count) AS employees_text,
        squish(company_annual_revenue) AS revenue_text,
        squish(company_founded_year) AS founded_text,
        squish(company_city) AS city,
        squish(company_state) AS state,
        squish(company_linkedin_url) AS linkedin_text,
        split_list(squish(company_industries)) AS industries,
        split_list(squish(company_keywords)) AS keywords,
        split_list(squish(company_technologies)) AS technologies
    FROM {{ ref('company_cells') }}
),
cleaned AS (
    SELECT
        cell_id, company_country,
        blank_to_null(name) AS name,
        blank_to_null(website) AS website,
        lower(blank_to_null(domain_text)) AS domain_text,
        blank_to_null(employees_text) AS employees_text,
        blank_to_null(revenue_text) AS revenue_text,
        blank_to_null(founded_text) AS founded_text,
        blank_to_null(city) AS city,
        blank_to_null(state) AS state,
        blank_to_null(linkedin_text) AS linkedin_text,
        distinct_items(industries) AS industries,
        distinct_items(keywords) AS keywords,
        distinct_items(technologies) AS technologies
    FROM squished
),
parsed AS (
    SELECT
        * EXCLUDE (domain_text, linkedin_text),
        url_host(domain_text) AS domain_host,
        url_host(lower(website)) AS website_host,
        linkedin_url(linkedin_text) AS linkedin_url,
        amount_parts(employees_text) AS employees,
        amount_parts(revenue_text) AS revenue,
        year_value(founded_text) AS founded_year
    FROM cleaned
),
units AS (
    SELECT
        *,
        coalesce(domain_of(domain_host), domain_of(website_host)) AS domain,
        -- "1-10M": a bound without a unit takes the other bound's.
        coalesce(nullif(employees.lo_unit, ''), employees.hi_unit) AS employees_lo_unit,
        coalesce(nullif(revenue.lo_unit, ''), revenue.hi_unit) AS revenue_lo_unit
    FROM parsed
),
valued AS (
    SELECT
        u.*,
        cv.country,
        amount_value(employees.lo, employees_lo_unit) AS employees_min,
        amount_value(employees.hi, employees.hi_unit) AS employees_hi,
        amount_value(revenue.lo, revenue_lo_unit) AS revenue_min,
        amount_value(revenue.hi, revenue.hi_unit) AS revenue_hi
    FROM units u
    LEFT JOIN {{ ref('country_values') }} cv ON cv.raw = u.company_country
),
keyed AS (
    SELECT
        *,
        md5(CASE WHEN domain IS NOT NULL THEN 'domain:' || domain
                 WHEN name IS NOT NULL
                 THEN 'name:' || lower(name) || '|' || coalesce(country, '') END) AS key_md5
    FROM valued
)
SELECT
    cell_id, name, website, domain, industries,
    employees_min AS employees_count,
    employees_min AS employees_count_min,
    CASE WHEN employees.hi <> '' THEN employees_hi
         WHEN employees.plus = '' THEN employees_min END AS employees_count_max,
    revenue_min AS annual_revenue,
    founded_year, city, state, country, linkedin_url, keywords, technologies,
    -- coalesce: a comparison with NULL is NULL, and NOT NULL would let the row through.
    coalesce(
        (employees_text IS NULL
            OR (employees_min IS NOT NULL
                AND (employees.hi = '' OR employees_hi >= employees_min)))
        AND (revenue_text IS NULL
            OR (revenue_min IS NOT NULL AND (revenue.hi = '' OR revenue_hi >= revenue_min)))
        AND (founded_text IS NULL OR founded_year BETWEEN 1000 AND 2100),
        false) AS numbers_ok,
    uuid_v3_from_md5(key_md5) AS company_id
FROM keyed
