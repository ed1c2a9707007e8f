"""Study machinery shared by every command that trains candidates in an Optuna study.

``storage`` opens the database and holds the trial-creation lock; ``study`` creates or resumes a
study and tabulates it; ``protocol`` is the one trial protocol; ``loop`` is the worker loop.
"""
