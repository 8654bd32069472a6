"""Offline bundles: a node carries its pushes (and the receipt back) on a USB stick."""
