"""A simulated fleet of smart-home appliances with degradation faults and ground truth."""
