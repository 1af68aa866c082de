-- Migration "module-signatures": the functions' types (FunctionSignature lines), so that List reads
-- no descriptor; NULL for modules stored before (their lists parse the descriptor).
ALTER TABLE "module" ADD COLUMN "signatures" TEXT;
