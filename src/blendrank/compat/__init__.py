"""Drop-in names for code written against other libraries: change one import and keep the
rest (``blendrank.compat.pymilvus``; ``CrossEncoderReranker.predict`` / ``.rank`` follow
sentence-transformers' ``CrossEncoder``)."""
