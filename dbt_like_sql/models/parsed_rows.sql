{{ config(materialized='table') }}
-- One row per input row: contact values typed, its company's id, the reject reason (NULL
-- when the row loads) and the row's entity id (a contact, or a company in a companies file).
WITH joined AS (
    SELECT
        s._line,
        s.first_name,
        s.last_name,
        s.full_name AS full_name_text,
        tv.title,
        coalesce(sv.known, tv.title_seniority, sv.as_written) AS seniority,
        dv.departments,
        email_text(s.email) AS email,
        s.phone,
        s.linkedin_url AS linkedin_text,
        s.city,
        s.state,
        cv.country,
        s.created_at AS created_at_text,
        rc.cell_id,
        co.company_id,
        co.numbers_ok
    FROM {{ ref('stg_rows') }} s
    JOIN {{ ref('row_cells') }} rc ON rc._line = s._line
    JOIN {{ ref('company_values') }} co ON co.cell_id = rc.cell_id
    LEFT JOIN {{ ref('title_values') }} tv ON tv.raw = s.title_raw
    LEFT JOIN {{ ref('seniority_values') }} sv ON sv.raw = s.seniority_raw
    LEFT JOIN {{ ref('department_values') }} dv ON dv.raw = s.departments_raw
    LEFT JOIN {{ ref('country_values') }} cv ON cv.raw = s.country_raw
),
typed AS (
    SELECT
        * EXCLUDE (first_name, last_name, linkedin_text),
        -- A lone full-name column is split at its first space.
        CASE WHEN first_name IS NULL AND last_name IS NULL
             THEN nullif(regexp_extract(full_name_text, '^\S+'), '') ELSE first_name END
            AS first_name,
        CASE WHEN first_name IS NULL AND last_name IS NULL
             THEN nullif(regexp_extract(full_name_text, '^\S+ (.+)$', 1), '')
             ELSE last_name END AS last_name,
        linkedin_url(linkedin_text) AS linkedin_url,
        parse_time(created_at_text) AS created_at
    FROM joined
),
named AS (
    SELECT *, nullif(trim(concat_ws(' ', first_name, last_name)), '') AS full_name
    FROM typed
),
keyed AS (
    SELECT
        *,
        md5(CASE WHEN email IS NOT NULL THEN 'email:' || email
                 WHEN linkedin_url IS NOT NULL THEN 'linkedin:' || lower(linkedin_url)
                 WHEN full_name IS NOT NULL AND company_id IS NOT NULL
                 THEN 'name:' || lower(full_name) || '|' || company_id END) AS contact_md5
    FROM named
),
identified AS (
    SELECT
        * EXCLUDE (contact_md5),
        uuid_v3_from_md5(contact_md5) AS contact_id,
        CASE WHEN getvariable('companies_only') THEN company_id
             ELSE uuid_v3_from_md5(contact_md5) END AS entity_id
    FROM keyed
)
SELECT
    * EXCLUDE (full_name_text, created_at_text, numbers_ok),
    CASE WHEN email IS NOT NULL AND NOT is_valid_email(email) THEN 'invalid_email'
         WHEN NOT numbers_ok THEN 'invalid_number'
         WHEN created_at_text IS NOT NULL AND created_at IS NULL THEN 'invalid_date'
         WHEN entity_id IS NULL THEN 'no_identity'
    END AS reject_reason
FROM identified
