-- The roles, database and schemas of the controller's PostgreSQL, for psql (15 or later).
--
-- One file for both stacks: `vigil stack up` runs it after every start of its server, the
-- compose stack's postgres/initdb/10-vigil-roles.sh once, when the volume is initialised.
-- It is idempotent: every run leaves the same roles, owners and grants, and sets the
-- passwords again from the files the callers read them from.
--
--   vigil           the controller: logs in, owns the schemas observability and langgraph
--                   (its migrations create every table there), and nothing else: not a
--                   superuser (a superuser may run COPY ... FROM PROGRAM, i.e. any shell
--                   command as the server's account), no CREATEDB/CREATEROLE, does not own
--                   the database, cannot create schemas.
--   vigil_readonly  dashboards: SELECT on every table of both schemas, now and later.
--
-- Run by the superuser, connected to the maintenance database `postgres`. The passwords come
-- from the environment (\getenv), never from the command line, where any local user could read
-- them (/proc/PID/cmdline): VIGIL_PG_APP_PASSWORD, VIGIL_PG_READONLY_PASSWORD. An unset one
-- leaves its variable unset, and the statement using it fails (ON_ERROR_STOP).
\set ON_ERROR_STOP on
\getenv app_password VIGIL_PG_APP_PASSWORD
\getenv readonly_password VIGIL_PG_READONLY_PASSWORD

-- A statement that fails is logged with its text: keep the passwords out of the server log.
SET log_min_error_statement = panic;
SET client_min_messages = warning;

SELECT 'CREATE ROLE vigil'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vigil') \gexec
ALTER ROLE vigil WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';

SELECT 'CREATE ROLE vigil_readonly'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vigil_readonly') \gexec
ALTER ROLE vigil_readonly WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    NOBYPASSRLS PASSWORD :'readonly_password';
-- Belt and braces: even a grant given by mistake later does not let it write.
ALTER ROLE vigil_readonly SET default_transaction_read_only = on;

-- Owned by the superuser running this (the compose image creates it as POSTGRES_DB, owned by
-- POSTGRES_USER): the owner of a database may create schemas in it and grant on it.
SELECT 'CREATE DATABASE vigil'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'vigil') \gexec
-- PUBLIC has CONNECT and TEMPORARY on every new database: only the two roles may connect.
REVOKE ALL ON DATABASE vigil FROM PUBLIC;
GRANT CONNECT ON DATABASE vigil TO vigil, vigil_readonly;

\connect vigil
SET log_min_error_statement = panic;
SET client_min_messages = warning;

-- PostgreSQL 15 no longer lets PUBLIC create in schema public; say so for older clusters too.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS observability AUTHORIZATION vigil;
ALTER SCHEMA observability OWNER TO vigil;
-- LangGraph's checkpoint tables, once the controller keeps them.
CREATE SCHEMA IF NOT EXISTS langgraph AUTHORIZATION vigil;
ALTER SCHEMA langgraph OWNER TO vigil;

GRANT USAGE ON SCHEMA observability, langgraph TO vigil_readonly;
-- Tables that exist now (a restart after the migrations ran) ...
GRANT SELECT ON ALL TABLES IN SCHEMA observability, langgraph TO vigil_readonly;
-- ... and every table vigil creates later (migrations, monthly measurement partitions).
ALTER DEFAULT PRIVILEGES FOR ROLE vigil IN SCHEMA observability, langgraph
    GRANT SELECT ON TABLES TO vigil_readonly;
