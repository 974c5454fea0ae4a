{{ config(materialized='view') }}
-- One row per contact of the batch, in the shape of the contacts table. A view: it is read
-- once, straight into Arrow (or through contact_documents), so materializing it would only
-- copy it.
--
-- Most contacts appear once in a batch and pass straight through; the others are merged,
-- the last non-empty value winning per field, and their full name rebuilt from the merged
-- first and last names.
--
-- Lineage: source_file is a one-element list (this file) and first_seen = last_seen = the
-- load time; the stores merge them into every contributing file, the first and the latest
-- load (DESIGN.md section 10).
WITH contact_rows AS (
    SELECT * FROM {{ ref('valid_rows') }} WHERE NOT getvariable('companies_only')
),
repeated AS (
    SELECT contact_id FROM contact_rows GROUP BY contact_id HAVING count(*) > 1
),
merged AS (
    SELECT
        contact_id,
        arg_max(first_name, _line) FILTER (WHERE first_name IS NOT NULL) AS first_name,
        arg_max(last_name, _line) FILTER (WHERE last_name IS NOT NULL) AS last_name,
        arg_max(title, _line) FILTER (WHERE title IS NOT NULL) AS title,
        arg_max(seniority, _line) FILTER (WHERE seniority IS NOT NULL) AS seniority,
        arg_max(departments, _line) FILTER (WHERE departments IS NOT NULL) AS departments,
        arg_max(email, _line) FILTER (WHERE email IS NOT NULL) AS email,
        arg_max(phone, _line) FILTER (WHERE phone IS NOT NULL) AS phone,
        arg_max(linkedin_url, _line) FILTER (WHERE linkedin_url IS NOT NULL) AS linkedin_url,
        arg_max(city, _line) FILTER (WHERE city IS NOT NULL) AS city,
        arg_max(state, _line) FILTER (WHERE state IS NOT NULL) AS state,
        arg_max(country, _line) FILTER (WHERE country IS NOT NULL) AS country,
        arg_max(company_id, _line) FILTER (WHERE company_id IS NOT NULL) AS company_id,
        arg_max(created_at, _line) FILTER (WHERE created_at IS NOT NULL) AS created_at
    FROM contact_rows
    WHERE contact_id IN (SELECT contact_id FROM repeated)
    GROUP BY contact_id
),
contacts AS (
    SELECT contact_id, first_name, last_name, full_name, title, seniority, departments,
           email, phone, linkedin_url, city, state, country, company_id, created_at
    FROM contact_rows
    WHERE contact_id NOT IN (SELECT contact_id FROM repeated)
    UNION ALL
    SELECT contact_id, first_name, last_name,
           nullif(trim(concat_ws(' ', first_name, last_name)), ''), title, seniority,
           departments, email, phone, linkedin_url, city, state, country, company_id,
           created_at
    FROM merged
)
SELECT
    c.contact_id AS id, c.first_name, c.last_name, c.full_name, c.title, c.seniority,
    c.departments, c.email, c.phone, c.linkedin_url, c.city, c.state, c.country,
    c.company_id,
    coalesce(c.created_at, getvariable('loaded_at')) AS created_at,
    getvariable('loaded_at') AS updated_at,
    [getvariable('source_file')] AS source_file,
    getvariable('load_run') AS load_run,
    getvariable('loaded_at') AS first_seen,
    getvariable('loaded_at') AS last_seen
FROM contacts c
