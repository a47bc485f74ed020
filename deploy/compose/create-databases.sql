-- Run once by the postgres container on an empty data directory: one
-- database per subgraph (no table is read by two subgraphs; see ARCHITECTURE.md).
CREATE DATABASE talentgraph_core;
CREATE DATABASE talentgraph_auth;
CREATE DATABASE talentgraph_jobseeker;
CREATE DATABASE talentgraph_employer;
CREATE DATABASE talentgraph_payment;
CREATE DATABASE talentgraph_internship;
-- The schema registry's own database (schema-registry runs its migrations).
CREATE DATABASE talentgraph_registry;
