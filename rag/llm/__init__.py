"""The chat models an answer may be drafted with: any OpenAI-compatible endpoint, or a local GGUF
model run by llama.cpp in a child process (``worker``), as LangChain chat models (``chat``)."""
