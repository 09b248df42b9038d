/* shape.c — placeholder, being written */
