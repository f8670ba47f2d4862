"""Objects: segmentation, label images, puncta and translocation."""
