-- Migration "module-leaf-index": each module's leaf in the log. (Modules stored before the log
-- existed get their leaves in the same migration, appended in code: SQLiteSchema.swift.)
ALTER TABLE "module" ADD COLUMN "leaf_index" INTEGER;
