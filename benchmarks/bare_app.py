"""The baseline: a bare FastAPI hello-world, served with the same server settings."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello"}
