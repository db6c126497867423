from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr, Field, ValidationInfo, field_validator

from jobnaut.app.accounts.passwords import password_problem
from jobnaut.app.types import Text

ExperienceLevel = Literal["entry", "mid", "senior", "lead"]


class Credentials(BaseModel):
    email: EmailStr
    password: Text = Field(min_length=8, max_length=256)

    @field_validator("password")
    @classmethod
    def not_guessable(cls, password: str, info: ValidationInfo) -> str:
        problem = password_problem(password, str(info.data.get("email", "")))
        if problem:
            raise ValueError(problem)
        return password


class PasswordChange(BaseModel):
    current_password: Text = Field(min_length=1, max_length=256)
    new_password: Text = Field(min_length=8, max_length=256)


class PasswordConfirmation(BaseModel):
    password: Text = Field(min_length=1, max_length=256)


class AccountDeleted(BaseModel):
    deleted: dict[str, int] = Field(description="rows deleted per table")
    recoverable: str = Field(description="how the data can still be brought back")


class SignInRequest(BaseModel):
    email: EmailStr
    password: Text = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    id: int
    email: str


class SignedOut(BaseModel):
    revoked: int = Field(description="how many sessions were ended")


class TokenOut(BaseModel):
    token: str
    user: UserOut


class ProfileIn(BaseModel):
    full_name: Text | None = Field(default=None, max_length=200)
    location: Text | None = Field(default=None, max_length=200)
    experience_level: ExperienceLevel | None = None
    skills: list[Text] = Field(default_factory=list, max_length=50)

    @field_validator("skills")
    @classmethod
    def normalise_skills(cls, skills: list[str]) -> list[str]:
        """Trimmed, once each whatever the case, and kept as the person wrote them ("SQL",
        not "sql"): matching compares them case-insensitively."""
        cleaned: list[str] = []
        seen: set[str] = set()
        for skill in skills:
            name = " ".join(skill.split())
            if len(name) > 80:
                raise ValueError("a skill name is at most 80 characters")
            if name and name.lower() not in seen:
                seen.add(name.lower())
                cleaned.append(name)
        return cleaned


class ProfileOut(ProfileIn):
    pass


class MeOut(UserOut):
    profile: ProfileOut
