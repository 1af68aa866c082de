-- Migration "world-state": modules' state, its size per module, and the ledger of transactions.
CREATE TABLE "state" ("owner" TEXT NOT NULL, "key" BLOB NOT NULL, "value" BLOB NOT NULL, PRIMARY KEY ("owner", "key")) WITHOUT ROWID;
CREATE TABLE "state_usage" ("owner" TEXT PRIMARY KEY NOT NULL, "keys" INTEGER NOT NULL, "bytes" INTEGER NOT NULL);
CREATE TABLE "ledger_transaction" (
    "id" TEXT PRIMARY KEY NOT NULL, "module" TEXT NOT NULL, "sequence" INTEGER NOT NULL, "method" TEXT NOT NULL,
    "input" BLOB NOT NULL, "output" BLOB NOT NULL, "read_set" BLOB NOT NULL, "write_set" BLOB NOT NULL,
    "time" INTEGER NOT NULL, "nonce" BLOB NOT NULL, "leaf_index" INTEGER NOT NULL, UNIQUE ("module", "sequence"));
