"""Records: freezing, versions, corrections, signatures, search, exports, PDFs and verification."""
