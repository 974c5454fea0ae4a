{{ config(materialized='incremental', unique_key='id') }}
-- The file's companies merged across batches, for the contacts' search documents.
SELECT * FROM {{ ref('batch_companies') }}
