"""The document checker (图片相似度分析): pictures extracted from Office and PDF files
(:mod:`lookalike.sources.documents`), compared by the matching engine, written to the
workbook ``图片相似度<date>.xlsx``."""
