"""What things are: network quantities and layers, indices, partial derivatives, primitives."""
