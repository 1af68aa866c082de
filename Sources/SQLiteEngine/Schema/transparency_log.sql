-- Migration "transparency-log": the log's leaves, subtree hashes and signed checkpoints.
CREATE TABLE "log_leaf" ("idx" INTEGER PRIMARY KEY, "data" BLOB NOT NULL);
CREATE TABLE "log_node" ("level" INTEGER NOT NULL, "idx" INTEGER NOT NULL, "hash" BLOB NOT NULL, PRIMARY KEY ("level", "idx"));
CREATE TABLE "log_checkpoint" ("size" INTEGER PRIMARY KEY, "note" TEXT NOT NULL);
