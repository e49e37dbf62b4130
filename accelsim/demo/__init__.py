"""Demonstrations on real data: LeNet-5 trained on scikit-learn's digits, classified in float and int8 (``digits``)."""
