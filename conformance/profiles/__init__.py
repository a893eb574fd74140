"""Product profiles: the YAML files that make each product differ, and their claims."""

from conformance.profiles.loader import Problem, ProfileError, load_profile, load_profiles
from conformance.profiles.schema import Citation, Profile, Source

__all__ = [
    "Citation",
    "Problem",
    "Profile",
    "ProfileError",
    "Source",
    "load_profile",
    "load_profiles",
]
