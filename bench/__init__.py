"""Benchmarks: accuracy and speed of sohoa's OCR against baselines run on the same pages (not tests).

Public pieces: `bench/ocr.py` (the script), `metrics` (CER, WER, word F1), `corpus` (the synthetic degraded
pages with ground truth), `engines` (each engine run in a fresh worker process), `report` (tables and JSON).
"""
