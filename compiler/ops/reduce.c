/* reduce.c — placeholder, being written */
