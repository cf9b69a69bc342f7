-- Chunks read by OCR (scanned PDF pages, images) record the mean confidence Tesseract gave
-- their words, 0-100; NULL for text taken from the document itself. A nullable column
-- without a default: adding it rewrites nothing, whatever the size of chunks.
ALTER TABLE chunks ADD COLUMN ocr_confidence real;
