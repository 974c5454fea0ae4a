{{ config(materialized='incremental', unique_key='id') }}
-- Ids of the file's entities (contacts, or companies for a companies file) seen so far:
-- the ids a run inserts are the rows "loaded", the other valid rows were "merged".
SELECT DISTINCT entity_id::UUID AS id FROM {{ ref('valid_rows') }}
