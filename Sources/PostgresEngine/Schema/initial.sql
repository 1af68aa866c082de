-- Migration 1, "initial": the tables SQLite has (SQLiteEngine/Schema), with bigint for integers and
-- bytea for bytes.
CREATE TABLE module_blob (id text PRIMARY KEY, bytes bytea NOT NULL);
CREATE TABLE module (
    seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, name text NOT NULL, size bigint NOT NULL,
    descriptor bytea NOT NULL, functions text NOT NULL, added bigint NOT NULL, leaf_index bigint NOT NULL,
    signatures text);
CREATE TABLE log_leaf (idx bigint PRIMARY KEY, data bytea NOT NULL);
CREATE TABLE log_node (level bigint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE log_checkpoint (size bigint PRIMARY KEY, note text NOT NULL);
CREATE TABLE state (owner text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (owner, key));
CREATE TABLE state_usage (owner text PRIMARY KEY, keys bigint NOT NULL, bytes bigint NOT NULL);
CREATE TABLE ledger_transaction (
    id text PRIMARY KEY, module text NOT NULL, sequence bigint NOT NULL, method text NOT NULL,
    input bytea NOT NULL, output bytea NOT NULL, read_set bytea NOT NULL, write_set bytea NOT NULL,
    time bigint NOT NULL, nonce bytea NOT NULL, leaf_index bigint NOT NULL, UNIQUE (module, sequence));
