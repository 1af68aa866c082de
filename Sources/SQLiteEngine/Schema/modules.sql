-- Migration "modules": the module index.
CREATE TABLE "module" (
    "seq" INTEGER PRIMARY KEY AUTOINCREMENT, "id" TEXT NOT NULL UNIQUE, "name" TEXT NOT NULL, "size" INTEGER NOT NULL,
    "descriptor" BLOB NOT NULL,
    "functions" TEXT NOT NULL, -- newline-separated method paths
    "added" INTEGER NOT NULL);
