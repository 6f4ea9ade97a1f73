"""nbgrader finds this file in the directory it runs from; the course's settings live in autograder/."""
c = get_config()  # noqa: F821
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
