{{ config(materialized='table') }}
-- One row per input row: every value normalized and typed, the row's reject reason (NULL
-- when it loads) and its ids. The rules themselves live in macros/normalize.sql.
WITH looked_up AS (
    SELECT
        s.*,
        coalesce(sa.seniority, sv.seniority, st.seniority, lower(s.seniority)) AS seniority_n,
        coalesce(ca.country, lower(s.country)) AS country_n,
        coalesce(cc.country, lower(s.company_country)) AS company_country_n
    FROM {{ ref('stg_rows') }} s
    LEFT JOIN {{ ref('seniority_aliases') }} sa ON sa.term = lookup_key(s.seniority)
    LEFT JOIN {{ ref('seniority_terms') }} sv ON sv.term = lookup_key(s.seniority)
    LEFT JOIN {{ ref('seniority_terms') }} st ON st.term = lookup_key(s.title)
    LEFT JOIN {{ ref('country_aliases') }} ca ON ca.alias_key = lookup_key(s.country)
    LEFT JOIN {{ ref('country_aliases') }} cc ON cc.alias_key = lookup_key(s.company_country)
),
typed AS (
    SELECT
        _line,
        _raw,
        -- A lone full-name column is split at its first space.
        CASE WHEN first_name IS NULL AND last_name IS NULL
             THEN nullif(regexp_extract(full_name, '^\S+'), '') ELSE first_name END
            AS first_name,
        CASE WHEN first_name IS NULL AND last_name IS NULL
             THEN nullif(regexp_extract(full_name, '^\S+ (.+)$', 1), '') ELSE last_name END
            AS last_name,
        title,
        seniority_n AS seniority,
        list_transform(split_list(departments), lambda d: replace(d, ' ', '_')) AS departments,
        email_text(email) AS email,
        phone,
        linkedin_url(linkedin_url) AS linkedin_url,
        city,
        state,
        country_n AS country,
        created_at AS created_at_text,
        parse_time(created_at) AS created_at,
        company_name,
        company_website AS website,
        coalesce(domain_of(company_domain), domain_of(company_website)) AS domain,
        split_list(company_industries) AS industries,
        company_employees_count AS employees_text,
        amount_parts(company_employees_count) AS employees,
        company_annual_revenue AS revenue_text,
        amount_parts(company_annual_revenue) AS revenue,
        company_founded_year AS founded_text,
        year_value(company_founded_year) AS founded_year,
        company_city,
        company_state,
        company_country_n AS company_country,
        linkedin_url(company_linkedin_url) AS company_linkedin_url,
        split_list(company_keywords) AS keywords,
        split_list(company_technologies) AS technologies
    FROM looked_up
),
valued AS (
    SELECT
        * EXCLUDE (departments, industries, keywords, technologies),
        distinct_items(departments) AS departments,
        distinct_items(industries) AS industries,
        distinct_items(keywords) AS keywords,
        distinct_items(technologies) AS technologies,
        nullif(trim(concat_ws(' ', first_name, last_name)), '') AS full_name,
        -- "1-10M": a bound without a unit takes the other bound's.
        amount_value(employees.lo, coalesce(nullif(employees.lo_unit, ''), employees.hi_unit))
            AS employees_min,
        amount_value(employees.hi, employees.hi_unit) AS employees_hi,
        amount_value(revenue.lo, coalesce(nullif(revenue.lo_unit, ''), revenue.hi_unit))
            AS revenue_min,
        amount_value(revenue.hi, revenue.hi_unit) AS revenue_hi,
        CASE WHEN domain IS NOT NULL THEN 'domain:' || domain
             WHEN company_name IS NOT NULL
             THEN 'name:' || lower(company_name) || '|' || coalesce(company_country, '')
        END AS company_key
    FROM typed
),
keyed AS (
    SELECT
        *,
        CASE WHEN employees.hi <> '' THEN employees_hi
             WHEN employees.plus = '' THEN employees_min END AS employees_max,
        (employees_text IS NULL OR (employees_min IS NOT NULL
            AND (employees.hi = '' OR employees_hi >= employees_min)))
        AND (revenue_text IS NULL OR (revenue_min IS NOT NULL
            AND (revenue.hi = '' OR revenue_hi >= revenue_min)))
        AND (founded_text IS NULL OR founded_year BETWEEN 1000 AND 2100) AS numbers_ok,
        record_id(company_key) AS company_id
    FROM valued
),
identified AS (
    SELECT
        *,
        record_id(CASE
            WHEN email IS NOT NULL THEN 'email:' || email
            WHEN linkedin_url IS NOT NULL THEN 'linkedin:' || lower(linkedin_url)
            WHEN full_name IS NOT NULL AND company_id IS NOT NULL
            THEN 'name:' || lower(full_name) || '|' || company_id
        END) AS contact_id
    FROM keyed
)
SELECT
    * EXCLUDE (employees, revenue, employees_hi, revenue_hi),
    CASE WHEN getvariable('companies_only') THEN company_id ELSE contact_id END AS entity_id,
    CASE WHEN email IS NOT NULL AND NOT is_valid_email(email) THEN 'invalid_email'
         WHEN NOT numbers_ok THEN 'invalid_number'
         WHEN created_at_text IS NOT NULL AND created_at IS NULL THEN 'invalid_date'
         WHEN (CASE WHEN getvariable('companies_only') THEN company_id ELSE contact_id END)
              IS NULL THEN 'no_identity'
    END AS reject_reason
FROM identified
